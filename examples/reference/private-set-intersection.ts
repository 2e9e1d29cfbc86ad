/** Lines common to both texts, unique, sorted by their UTF-8 bytes, each followed by '\n'. */
export function privateSetIntersection(first: string, second: string): string {
  const lines = (text: string) => new Set(text.split('\n').slice(0, -1));
  const other = lines(second);
  const common = [...lines(first)].filter((line) => other.has(line));
  const encoder = new TextEncoder();
  common.sort((a, b) => Buffer.compare(encoder.encode(a), encoder.encode(b)));
  return common.map((line) => `${line}\n`).join('');
}
