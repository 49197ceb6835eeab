ARG X=1
RUN echo hi
