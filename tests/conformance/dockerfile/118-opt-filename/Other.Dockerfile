FROM @REGISTRY@/busybox
RUN echo other > /other
