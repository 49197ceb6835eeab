FROM alpine
RUN echo crlf \
  continued
RUN <<EOF
content keeps its CRLF
EOF
CMD ["a"]
