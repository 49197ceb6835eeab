# opt: target=final
ARG BASE=base:1
FROM $BASE AS build
RUN echo built > /out
FROM scratch AS unused
COPY --from=never /x /x
FROM build AS final
COPY --from=build /out /copied
FROM scratch AS after
