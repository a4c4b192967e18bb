# With RAUC: the update client and the unit that marks a healthy slot good.
IMAGE_INSTALL:append = " rauc rauc-mark-good"
