ARG PLAT
FROM --platform=$PLAT busybox
RUN true
