// The bench's Node.js no-op Lambda function (runtime nodejs20.x, handler noop.handler).
export const handler = async () => ({});
