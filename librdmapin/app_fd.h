/* SPDX-License-Identifier: MIT */
/*
 * The library's own descriptors in the application's table, where some
 * system calls need them (a maps fd for PROCMAP_QUERY, a socket to hand
 * files to the fd keeper): the application may close one and open another
 * file on its number (closefrom), so each is checked to be still the file
 * the library opened, and one that is not is forgotten, never closed.
 */
#ifndef RDMAPIN_APP_FD_H
#define RDMAPIN_APP_FD_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rdmapin_app_fd {
	int fd;				/* -1: none */
	dev_t dev;			/* what fd was when the library opened it */
	ino_t ino;
};

#define RDMAPIN_APP_FD_INIT { .fd = -1 }

/* fstat(2), by its own system call where glibc's walks a path (app_fd.c). */
int rdmapin_fstat(int fd, struct stat *st);
/*
 * Takes @fd, just opened, into @a and returns it; -1 with errno when it
 * cannot be told apart later (its fstat failed: then it is closed).
 */
int rdmapin_app_fd_set(struct rdmapin_app_fd *a, int fd);
/* Whether @a still names the file the library opened. */
bool rdmapin_app_fd_ours(const struct rdmapin_app_fd *a);
/* In a forked child, whose table is a copy: closes the number if it is still ours. */
void rdmapin_app_fd_forget(struct rdmapin_app_fd *a);

#endif
