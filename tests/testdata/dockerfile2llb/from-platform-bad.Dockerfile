FROM --platform=linux/arm64/v8/extra busybox
RUN true
