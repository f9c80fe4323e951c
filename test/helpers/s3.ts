// A real S3 protocol server on loopback (s3rver, objects on disk) with one bucket, for the S3 publishing tests.
import { join } from 'node:path';
import S3rver from 's3rver';

/** s3rver's fixed credentials, as the environment the publishers read. */
export const S3_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export async function startS3(dir: string, bucket: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, close: async () => void (await server.close()) };
}
