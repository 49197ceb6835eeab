FROM alpine
RUN echo a && \
    HEALTH &&\
CMD x
FOO bar
