FROM scratch
ARG OWNER=10:20
COPY --chown=$OWNER --chmod=0640 a.txt b.txt /dst/
COPY --chmod=u+x,go-w --exclude=*.tmp bin/ /bin/
COPY --link lib/ /lib/
COPY --parents src/./pkg/*.go /code/
COPY --parents docs/readme.md /
COPY <<EOF data.txt /etc/
heredoc $OWNER
EOF
ADD archive.tar.gz /opt/
