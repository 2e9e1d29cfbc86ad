/* What the POSIX platform layer offers its host programs beyond vc_platform.h. */
#ifndef VC_POSIX_H
#define VC_POSIX_H

#include <stdint.h>

#include "vc_platform.h"

/**
 * When not 0, vc_platform_time() returns this (Unix seconds) instead of the system clock: the
 * host CLI's --at, to check certificates at a chosen time.
 */
extern int64_t vc_posix_fixed_time;

#endif /* VC_POSIX_H */
