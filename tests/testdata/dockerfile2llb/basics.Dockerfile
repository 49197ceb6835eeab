FROM base:1
ENV GREETING=hello DIR=/srv
WORKDIR $DIR/app
COPY hello.txt ./
RUN echo "$GREETING" > out.txt
CMD ["cat", "out.txt"]
