/*
 * What user_settings.h asks of a port of wolfSSL: the time for certificate validity and the
 * random bytes for key shares and signatures, both from the platform layer. On a device with a
 * hardware TRNG, its bytes go to wolfSSL directly (CUSTOM_RAND_GENERATE_BLOCK, no DRBG).
 */
#include <time.h>
#include "user_settings.h"
#include "vc_platform.h"

time_t vc_wolfssl_time(time_t *now) {
  time_t seconds = (time_t)vc_platform_time();
  if (now != NULL) *now = seconds;
  return seconds;
}

int vc_wolfssl_random_block(unsigned char *output, unsigned int length) {
  return vc_platform_random(output, length) == 0 ? 0 : -1;
}
