/** A replica that only holds the publisher lease: prints `leader` when it has it (test/service/store/pg-replicas.test.ts). */
import { PublisherLease } from '../../service/store/pg/lease.js';

const lease = new PublisherLease({ url: process.argv[2]!, retryMs: 500, onChange: (leader) => process.stdout.write(leader ? 'leader\n' : 'follower\n') });
lease.start();
setInterval(() => {}, 1 << 30);
