/*
 * kipc_local.h -- requests that arrive from no socket (private: not
 * installed, and no daemon calls it).
 *
 * The fuzzers and tests hand a daemon's dispatch the kipc_req its loop would
 * take from kipc_server_next(), validated exactly as the server validates a
 * peer's request, and read the one reply its handler sends.
 */
#ifndef SYSTEMK_KIPC_LOCAL_H
#define SYSTEMK_KIPC_LOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "kipc.h"

typedef struct kipc_local_reply {
	char  *text; /* the encoded reply once sent, else NULL; caller frees */
	size_t len;
} kipc_local_reply;

/*
 * Decodes the request in buf and validates it as the server of daemon (a
 * KD_*, called name) does for a peer of that privilege: envelope, method,
 * level, params, privilege.  A good request other than sys.hello is returned
 * for the daemon's handler; kipc_req_reply() or kipc_req_fail() then frees it
 * and leaves its reply in *out, which must live until then.  Otherwise the
 * reply (the error, or sys.hello's answer) is in *out at once and NULL is
 * returned; NULL with out->text NULL means memory ran out.
 */
kipc_req *kipc_req_local_new(const void *buf, size_t len, int daemon,
                             const char *name, bool privileged,
                             kipc_local_reply *out);

#endif /* SYSTEMK_KIPC_LOCAL_H */
