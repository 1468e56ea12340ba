/*
 * exitring.c -- the bounded ring of exits kinit reaped for nobody.
 *
 * When kstartd dies, its services are re-parented to kinit (a subreaper or
 * PID 1).  kinit reaps them like any zombie and remembers (pid, status,
 * time) here until the next kstartd asks with kinit.exits, so that it can act
 * on exits that happened while it was down (DESIGN section 1).  Fixed size,
 * no allocation: a flood of orphans costs the oldest entries, never memory.
 */
#include "kinit_core.h"

#include <string.h>

void
kinit_ring_init(kinit_ring *r)
{
	memset(r, 0, sizeof(*r));
}

bool
kinit_ring_push(kinit_ring *r, pid_t pid, int status, int64_t time_ms)
{
	kinit_exit *e;
	bool        overwrote = false;

	if (r->count == KINIT_RING_CAP) {
		r->head = (r->head + 1) % KINIT_RING_CAP;
		r->count--;
		r->dropped++;
		overwrote = true;
	}
	e = &r->e[(r->head + r->count) % KINIT_RING_CAP];
	e->pid = pid;
	e->status = status;
	e->time_ms = time_ms;
	r->count++;
	return overwrote;
}

size_t
kinit_ring_drain(kinit_ring *r, kinit_exit *out, size_t max)
{
	size_t n = 0;

	while (n < max && r->count > 0) {
		out[n++] = r->e[r->head];
		r->head = (r->head + 1) % KINIT_RING_CAP;
		r->count--;
	}
	if (r->count == 0) {
		r->head = 0;
		r->dropped = 0;
	}
	return n;
}
