FROM scratch AS unused
CMD echo not-checked
from scratch
