"""The files sessiontui keeps, and where: 0600 in 0700 folders."""
