FROM scratch
ENV A=1 \

    B=2
MAINTAINER someone
