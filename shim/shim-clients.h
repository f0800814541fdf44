/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Connections to the control socket (clients.c), the keeper (keeper.c) and the loop's entry points. Internal. */

#include "shim-server.h"

int shim_client_new(Shim *s, int fd);
/* The main process ended: answer waiters, end streams once they have caught up. */
void shim_clients_instance_stopped(Shim *s);
/* Started (after a "start" request): answer the requests waiting for it. */
void shim_clients_instance_started(Shim *s, int error);
/* Nothing left to send to anyone. */
bool shim_clients_idle(Shim *s);
/* Free the clients marked dead. */
void shim_clients_gc(Shim *s);
void shim_clients_free_all(Shim *s);
/* New console output or a writable console: push it to attached clients and followers. */
void shim_clients_output(Shim *s);
void shim_clients_console_writable(Shim *s);

void shim_request_stop(Shim *s, uint64_t timeout_usec);

/* keeper.c */
int shim_keeper_start(Shim *s);
/* Replace this process with the cleanup command (when the keeper is gone). Returns only on failure. */
int shim_exec_reaper(Shim *s);

/* runconfig.c, server.c */
int shim_setup(Shim *s, const char *run_dir, int ready_fd);
int shim_run(Shim *s);
/* Report a failure on the ready channel. */
void shim_ready_error(Shim *s, int error, const char *msg);
void shim_done(Shim *s);
