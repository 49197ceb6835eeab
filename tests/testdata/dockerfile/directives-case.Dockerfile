# syntax=docker/dockerfile:1
# EsCaPe = `
FROM alpine
RUN echo a `
  b
