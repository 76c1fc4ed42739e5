import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickOrphans, recordingFileInArgs, recordingIdInArgs, type ProcessInfo } from './orphan-processes.js';

const dir = '/var/recordings';
const self = { pid: 100, argv: ['node', '--import', 'tsx', '/app/services/recorder/src/main.ts'] };
const tools = ['gst-launch-1.0', '/usr/bin/ffmpeg'];

test('the recording id comes from a file argument directly in the folder', () => {
  assert.equal(recordingIdInArgs(['gst-launch-1.0', '-e', 'filesink', 'location=/var/recordings/rec_abc.mp4'], dir), 'rec_abc');
  assert.equal(recordingIdInArgs(['ffmpeg', '-i', 'pipe:0', '/var/recordings/rec_x-1.webm'], dir), 'rec_x-1');
  assert.equal(
    recordingIdInArgs(['ffmpeg', '-i', '/var/recordings/rec_v.mp4.partial.mkv', '-y', '/var/recordings/rec_v.mp4.finalizing.mp4'], dir + '/'),
    'rec_v',
  );
  assert.equal(recordingIdInArgs(['gst-launch-1.0', 'location=/var/recordings-other/rec_abc.mp4'], dir), undefined, 'another folder');
  assert.equal(recordingIdInArgs(['gst-launch-1.0', 'location=/var/recordings/sub/rec_abc.mp4'], dir), undefined, 'a subfolder');
  assert.equal(recordingIdInArgs(['gst-launch-1.0', 'location=/dev/null'], dir), undefined);
  assert.equal(recordingIdInArgs(['cp', 'x/var/recordings/rec_a.mp4'], dir), undefined, 'the folder must start the path');
});

test("the file an orphan writes: the recording's or segment's own name, without the intermediate suffix", () => {
  assert.deepEqual(recordingFileInArgs(['gst-launch-1.0', 'location=/var/recordings/rec_abc.mp4'], dir), { recordingId: 'rec_abc', file: 'rec_abc.mp4' });
  assert.deepEqual(recordingFileInArgs(['gst-launch-1.0', 'location=/var/recordings/rec_abc-s2.mp4.partial.mkv'], dir), {
    recordingId: 'rec_abc-s2',
    file: 'rec_abc-s2.mp4',
  });
  assert.equal(recordingFileInArgs(['gst-launch-1.0', 'location=/var/recordings/rec_abc'], dir), undefined, 'a file name has an extension');
});

test('orphans: recording tools on this folder whose parent is not a live recorder', () => {
  const processes: ProcessInfo[] = [
    { pid: 1, ppid: 0, state: 'S', argv: ['/sbin/init'] },
    { ...self, ppid: 1, state: 'S' },
    // a sibling recorder started the same way, and its child: not an orphan
    { pid: 200, ppid: 1, state: 'S', argv: self.argv },
    { pid: 201, ppid: 200, state: 'S', argv: ['gst-launch-1.0', 'location=/var/recordings/rec_sibling.mp4'] },
    // a recorder started from dist is a recorder too
    { pid: 300, ppid: 1, state: 'S', argv: ['node', 'services/recorder/dist/main.js'] },
    { pid: 301, ppid: 300, state: 'S', argv: ['ffmpeg', '/var/recordings/rec_dist.mp4'] },
    // our own child
    { pid: 101, ppid: 100, state: 'S', argv: ['gst-launch-1.0', 'location=/var/recordings/rec_mine.mp4'] },
    // orphans (reparented to init), one already a zombie
    { pid: 400, ppid: 1, state: 'S', argv: ['gst-launch-1.0', '-e', 'location=/var/recordings/rec_orphan.mp4'] },
    { pid: 401, ppid: 1, state: 'Z', argv: ['gst-launch-1.0', 'location=/var/recordings/rec_zombie.mp4'] },
    { pid: 402, ppid: 1, state: 'R', argv: ['/usr/bin/ffmpeg', '-i', '/var/recordings/rec_f.mp4', '-y', '/var/recordings/rec_f.mp4.finalizing.mp4'] },
    // someone else's program on our files is left alone
    { pid: 500, ppid: 1, state: 'S', argv: ['cp', '/var/recordings/rec_orphan.mp4', '/tmp'] },
    // a dead parent that is not in the list any more
    { pid: 600, ppid: 599, state: 'S', argv: ['gst-launch-1.0', 'location=/var/recordings/rec_lost.webm'] },
  ];
  const orphans = pickOrphans(processes, dir, self, tools);
  assert.deepEqual(orphans.map((o) => `${o.pid}:${o.recordingId}`).sort(), ['400:rec_orphan', '402:rec_f', '600:rec_lost']);
});
