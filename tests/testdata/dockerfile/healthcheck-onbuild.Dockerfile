FROM nginx
HEALTHCHECK --interval=30s --timeout=3s CMD curl -f http://localhost/ || exit 1
HEALTHCHECK CMD ["curl", "-f", "http://localhost/"]
HEALTHCHECK NONE
HEALTHCHECK
HEALTHCHECK   CMD    spaced   out
ONBUILD COPY . /app
ONBUILD RUN ["make", "install"]
ONBUILD --flag=x RUN --mount=type=cache,target=/c make
ONBUILD
ONBUILD ENV A=1 B=2
