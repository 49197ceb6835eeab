# opt: label:org.example.built-by=golden
FROM scratch
LABEL a=1 "b c"="d e"
MAINTAINER someone
EXPOSE 80 53/udp
VOLUME ["/data"]
USER 1000:1000
STOPSIGNAL SIGTERM
SHELL ["/bin/bash", "-c"]
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD curl -f http://localhost/
ENTRYPOINT ["/app"]
CMD help
ONBUILD RUN echo child
