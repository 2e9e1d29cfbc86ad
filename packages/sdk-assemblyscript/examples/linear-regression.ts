// Linear regression: the least-squares line through the points of /input/linear-regression.dat (the C example
// examples/programs/linear-regression, in AssemblyScript).
//
// Input:  /input/linear-regression.dat   n >= 2 points, each x then y as little-endian f64 (16 bytes a point).
// Output: /output/linear-regression.dat  gradient then intercept as little-endian f64 (16 bytes).
import { ExitCode, errnoName, fail, fileError, readFile, writeFile } from "@veracruz-ts/sdk-assemblyscript/assembly";

const INPUT = "/input/linear-regression.dat";
const OUTPUT = "/output/linear-regression.dat";

function main(): void {
  const data = readFile(INPUT);
  if (data === null) return fail(ExitCode.MISSING_INPUT, "cannot open " + INPUT + ": " + errnoName(fileError()));
  const length = data.length;
  if (length % 16 != 0) {
    return fail(ExitCode.MALFORMED_INPUT, "linear-regression.dat: " + length.toString() + " bytes is not a whole number of (x, y) f64 pairs");
  }
  const n = length / 16;
  if (n < 2) return fail(ExitCode.MALFORMED_INPUT, "linear-regression.dat: need at least 2 points, got " + n.toString());
  const points = data.dataStart;

  // Centre on the means first: numerically sturdier than the one-pass sums of squares.
  let sumX: f64 = 0;
  let sumY: f64 = 0;
  for (let i = 0; i < n; i++) {
    const x = load<f64>(points + <usize>(16 * i));
    const y = load<f64>(points + <usize>(16 * i), 8);
    if (!isFinite(x) || !isFinite(y)) return fail(ExitCode.MALFORMED_INPUT, "linear-regression.dat: point " + i.toString() + " is not finite");
    sumX += x;
    sumY += y;
  }
  const meanX = sumX / <f64>n;
  const meanY = sumY / <f64>n;
  let covariance: f64 = 0;
  let variance: f64 = 0;
  for (let i = 0; i < n; i++) {
    const dx = load<f64>(points + <usize>(16 * i)) - meanX;
    const dy = load<f64>(points + <usize>(16 * i), 8) - meanY;
    covariance += dx * dy;
    variance += dx * dx;
  }
  if (variance == 0) return fail(ExitCode.MALFORMED_INPUT, "linear-regression.dat: all x are equal, the gradient is undefined");

  const gradient = covariance / variance;
  const result = new Float64Array(2);
  result[0] = gradient;
  result[1] = meanY - gradient * meanX;
  const errno = writeFile(OUTPUT, Uint8Array.wrap(result.buffer));
  if (errno != 0) fail(ExitCode.OUTPUT_FAILED, "cannot write " + OUTPUT + ": " + errnoName(errno));
}

main();
