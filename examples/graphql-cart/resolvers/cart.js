// Query.cart: every line of a cart, with the item count and the total price.
import { util } from '@aws-appsync/utils';
import * as ddb from '@aws-appsync/utils/dynamodb';

export function request(ctx) {
  return ddb.query({ query: { userId: { eq: ctx.args.userId } }, consistentRead: true });
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  const lines = ctx.result.items;
  const itemCount = lines.reduce((count, line) => count + line.quantity, 0);
  const cents = lines.reduce((sum, line) => sum + Math.round(line.price * 100) * line.quantity, 0);
  return { userId: ctx.args.userId, lines, itemCount, total: cents / 100 };
}
