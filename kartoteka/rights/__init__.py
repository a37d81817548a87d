"""Changing who may do what: catalog rights documents (`service`) and record shares
(`shares`). Deciding rights is `kartoteka.access`."""
