FROM alpine

  # indented comment
RUNN echo typo
RUN echo never reached
