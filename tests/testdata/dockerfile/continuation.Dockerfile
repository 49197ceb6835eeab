FROM scratch
RUN apk add \
      curl \
      git
RUN echo one\
two
RUN echo keep \   
    trailing-blanks
RUN set -e; \
    # a comment between continuation lines is dropped
    make; \

    make install
RUN echo not a continuation \\
RUN echo first \
  \
  second
RUN echo "runs to the end of the file" \
