FROM @REGISTRY@/busybox
ONBUILD RUN echo triggered > /t
ONBUILD COPY a.txt /
