FROM onbuild:1
RUN echo after
