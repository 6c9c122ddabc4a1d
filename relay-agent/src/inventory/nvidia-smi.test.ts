import { describe, expect, it } from 'vitest';
import { parseGpuList, parseGpuUsage } from './nvidia-smi.ts';
import { gpusOf } from '../metrics/collector.ts';

// Real output of `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv` (8 × H100 and a 2-GPU workstation).
const H100 = `index, uuid, name, memory.total [MiB]
0, GPU-3c9e2a61-5d0f-8b4e-7a2c-1f6d9e8b0a34, NVIDIA H100 80GB HBM3, 81559 MiB
1, GPU-8f2b7c1d-4e6a-9b3f-2d8c-5a7e1f0b9c62, NVIDIA H100 80GB HBM3, 81559 MiB
2, GPU-1a4d8e2f-7b3c-6e9a-0f5d-8c2b4a7e1d93, NVIDIA H100 80GB HBM3, 81559 MiB
3, GPU-6e0f3b9a-2c8d-1a7e-4b5f-9d3c6e2a8f07, NVIDIA H100 80GB HBM3, 81559 MiB
4, GPU-9b7a2e4c-8f1d-3e6b-5c0a-2f8d7b1e4a56, NVIDIA H100 80GB HBM3, 81559 MiB
5, GPU-2d5c9f1e-6a3b-8d7c-1e4f-7b0a3c9d5e28, NVIDIA H100 80GB HBM3, 81559 MiB
6, GPU-4f8e1a7b-3d9c-2b6e-8a5d-0c7f4e1b9a83, NVIDIA H100 80GB HBM3, 81559 MiB
7, GPU-7c3a6d0b-9e2f-4a8c-6d1b-3e5a9f7c2b14, NVIDIA H100 80GB HBM3, 81559 MiB
`;
const WORKSTATION =
  'index, uuid, name, memory.total [MiB]\r\n0, GPU-5e0c3a4f-8a2b-1c9e-7d3f-2a1b0c9d8e7f, NVIDIA GeForce RTX 4090, 24564 MiB\r\n1, GPU-b1d2e3f4-a5b6-c7d8-e9f0-a1b2c3d4e5f6, NVIDIA RTX A6000, 49140 MiB\r\n';

describe('nvidia-smi GPU list', () => {
  it('parses several GPUs with the header line and MiB units', () => {
    const gpus = parseGpuList(H100);
    expect(gpus).toHaveLength(8);
    expect(gpus[0]).toEqual({
      index: 0,
      uuid: 'GPU-3c9e2a61-5d0f-8b4e-7a2c-1f6d9e8b0a34',
      name: 'NVIDIA H100 80GB HBM3',
      memory_mib: 81559,
    });
    expect(gpus.map((g) => g.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('handles CRLF and mixed models', () => {
    expect(parseGpuList(WORKSTATION)).toEqual([
      {
        index: 0,
        uuid: 'GPU-5e0c3a4f-8a2b-1c9e-7d3f-2a1b0c9d8e7f',
        name: 'NVIDIA GeForce RTX 4090',
        memory_mib: 24564,
      },
      { index: 1, uuid: 'GPU-b1d2e3f4-a5b6-c7d8-e9f0-a1b2c3d4e5f6', name: 'NVIDIA RTX A6000', memory_mib: 49140 },
    ]);
  });

  it('keeps a name with a comma and follows the header order', () => {
    const csv = 'name, index, memory.total [MiB], uuid\nTesla T4, rev, 2, 15360 MiB, GPU-x\n';
    expect(parseGpuList(csv)).toEqual([{ index: 2, uuid: 'GPU-x', name: 'Tesla T4, rev', memory_mib: 15360 }]);
  });

  it('returns nothing for empty or error output', () => {
    expect(parseGpuList('')).toEqual([]);
    expect(parseGpuList("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")).toEqual([]);
    expect(parseGpuList('index, uuid, name, memory.total [MiB]\n')).toEqual([]);
  });
});

describe('nvidia-smi usage', () => {
  const USAGE = `index, uuid, utilization.gpu [%], memory.used [MiB], memory.total [MiB]
0, GPU-aaa, 97 %, 70123 MiB, 81559 MiB
1, GPU-bbb, 0 %, 4 MiB, 81559 MiB
2, GPU-ccc, [N/A], [N/A], 81559 MiB
`;
  it('parses utilisation and memory, N/A as zero', () => {
    expect(parseGpuUsage(USAGE)).toEqual([
      { index: 0, uuid: 'GPU-aaa', utilization: 97, memory_used_mib: 70123, memory_total_mib: 81559 },
      { index: 1, uuid: 'GPU-bbb', utilization: 0, memory_used_mib: 4, memory_total_mib: 81559 },
      { index: 2, uuid: 'GPU-ccc', utilization: 0, memory_used_mib: 0, memory_total_mib: 81559 },
    ]);
  });

  it('maps GPUs to a container by index or UUID', () => {
    const usage = parseGpuUsage(USAGE);
    expect(gpusOf(['0', '2'], usage).map((g) => g.index)).toEqual([0, 2]);
    expect(gpusOf(['GPU-bbb'], usage).map((g) => g.index)).toEqual([1]);
    expect(gpusOf([], usage)).toEqual([]);
  });
});
