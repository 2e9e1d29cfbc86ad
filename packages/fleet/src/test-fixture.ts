/** Test support: topologies the fleet's specs share. */

/** A map-reduce topology: two mappers send their statistics to one reducer, which waits for both. */
export function mapReduce(): Record<string, unknown> {
  const mapper = (hospital: string, name: string) => ({
    programs: { '/program/map.wasm': 'build/map.wasm' },
    program_rights: { '/program/map.wasm': '/input/:r,/output/:rw' },
    rights: { [hospital]: '/input/records.csv:w,/program/map.wasm:x' },
    sends: [{ file: '/output/stats.dat', to: 'reducer', path: `/input/stats/${name}` }],
  });
  return {
    platform: 'linux',
    parties: ['hospital-1', 'hospital-2', 'analyst'],
    isolates: {
      'mapper-1': mapper('hospital-1', 'mapper-1'),
      'mapper-2': { ...mapper('hospital-2', 'mapper-2'), max_memory_mib: 128 },
      reducer: {
        programs: { '/program/reduce.wasm': 'build/reduce.wasm' },
        program_rights: { '/program/reduce.wasm': '/input/:r,/output/:rw' },
        rights: { analyst: '/program/reduce.wasm:x,/output/:r' },
        await: { program: '/program/reduce.wasm', deadline_ms: 600000 },
        port: 7010,
      },
    },
    listen: '127.0.0.1',
  };
}
