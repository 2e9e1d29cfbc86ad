/*
 * Signed linear regression: the least-squares line of examples/programs/linear-regression, with the result
 * signed by the isolate's attested key (veracruz_v1.result_sign), so anyone holding the output can check
 * offline that this policy's program computed it in an attested isolate.
 *
 * Input:  /input/linear-regression.dat    n >= 2 points, each x then y as little-endian f64 (16 bytes a point).
 * Output: /output/linear-regression.dat   gradient then intercept as little-endian f64 (16 bytes).
 *         /output/linear-regression.sig   the signed-result envelope (JSON, docs/program-abi.md) of the .dat.
 *
 * Exit codes: 0 success, 1 the isolate could not sign (no attested key: a local run), 2 the input is missing,
 * 3 it is malformed, 4 an output cannot be written (the .sig included: NOTCAPABLE without the write right).
 */
#include "vc.h"

#include "vc_io.h"
#include "vc_linear_fit.h"

int main(void) {
    const char *input = "/input/linear-regression.dat", *output = "/output/linear-regression.dat", *envelope = "/output/linear-regression.sig";
    double gradient, intercept;
    vc_linear_fit(input, &gradient, &intercept);
    unsigned char out[16];
    vc_put_f64(out, gradient);
    vc_put_f64(out + 8, intercept);
    vc_status status = vc_write_file(output, out, sizeof out);
    if (status != VC_OK) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot write %s: %s", output, strerror(status));

    status = vc_result_sign(output, envelope);
    /* NOTCAPABLE: the program may not read the output or write the envelope. */
    if (status == VC_ENOTCAPABLE || status == VC_ENOSPC) vc_fail(VC_EXIT_OUTPUT_FAILED, "cannot sign %s into %s: %s", output, envelope, vc_strerror(status));
    if (status != VC_OK) vc_fail(VC_EXIT_FAILURE, "cannot sign %s: %s", output, vc_strerror(status));
    return 0;
}
