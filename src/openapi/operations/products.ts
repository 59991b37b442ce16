import type { ProductRecord } from '../../db/records.ts';
import { topicTemplate } from '../../db/records.ts';
import { BusinessError } from '../errors.ts';
import { call, isAdmin, requireProduct, type OpContext, type Operation } from './shared.ts';

/** cloud-api.md §6.2 (products) and §6.3 (thing model document, topic categories). */
const nodeType = (p: ProductRecord) => (p.nodeType === 'GATEWAY' ? 1 : 0);
const dataFormat = (p: ProductRecord) => (p.dataFormat === 'CUSTOM' ? 0 : 1);
/** ValidateType 1 WEAK (STRICT shown as 1), 2 NONE. */
const validateType = (p: ProductRecord) => (p.validationMode === 'NONE' ? 2 : 1);
const OPERATION_CODE = { PUB: '0', SUB: '1', ALL: '2' } as const;

/** The fields every product answer starts with. */
const productInfo = (p: ProductRecord) => ({
  ProductKey: p.productKey,
  ProductName: p.name,
  NodeType: nodeType(p),
  DataFormat: dataFormat(p),
  ...(p.description ? { Description: p.description } : {}),
});

/** DeviceCount and GmtCreate (milliseconds) of QueryProduct and QueryProductList. */
const productCounts = async (ctx: OpContext, p: ProductRecord) => ({
  DeviceCount: await ctx.services.products.deviceCount(p.productKey, null),
  GmtCreate: p.createdAt.getTime(),
});

async function secret(ctx: OpContext, productKey: string): Promise<{ ProductSecret?: string }> {
  if (!isAdmin(ctx.principal)) return {};
  const s = await ctx.services.products.productSecret(productKey);
  return s === null ? {} : { ProductSecret: s };
}

const choice = (ctx: OpContext, name: string, allowed: number[], code: string): number | null => {
  const v = ctx.params.int(name, { code });
  if (v !== null && !allowed.includes(v)) throw new BusinessError(code, `${name} must be one of ${allowed.join(', ')}`);
  return v;
};

/** `Simple=true` drops the descriptive fields of the TSL document. */
function simplify(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(simplify);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .filter(([k]) => k !== 'name' && k !== 'desc' && k !== 'description')
      .map(([k, x]) => [k, simplify(x)]),
  );
}

export const productOperations: Record<string, Operation> = {
  CreateProduct: {
    role: 'ADMIN',
    async run(ctx) {
      const { params, services, principal } = ctx;
      const name = params.req('ProductName');
      const node = choice(ctx, 'NodeType', [0, 1], 'iot.prod.InvalidNodeType') ?? 0;
      const format = choice(ctx, 'DataFormat', [0, 1], 'iot.common.InvalidFormattedParameter') ?? 1;
      const validate = choice(ctx, 'ValidateType', [1, 2], 'iot.common.InvalidFormattedParameter') ?? 1;
      const authType = params.opt('AuthType');
      if (authType !== undefined && authType !== 'secret')
        throw new BusinessError('iot.common.InvalidFormattedParameter', 'AuthType must be secret');
      if (params.bool('Id2') === true)
        throw new BusinessError('iot.common.InvalidFormattedParameter', 'Id2 authentication is not offered');
      const p = await call(
        () =>
          services.products.create(principal, {
            name,
            description: params.opt('Description') ?? null,
            nodeType: node === 1 ? 'GATEWAY' : 'DEVICE',
            dataFormat: format === 0 ? 'CUSTOM' : 'ALINK_JSON',
            validationMode: validate === 2 ? 'NONE' : 'WEAK',
          }),
        {
          INVALID_NAME: 'iot.prod.InvalidFormattedProductName',
          PRODUCT_ALREADY_EXISTS: 'iot.prod.AlreadyExistedProductName',
        },
      );
      return {
        ProductKey: p.productKey,
        Data: {
          ...productInfo(p),
          AliyunCommodityCode: 'iothub_senior',
          AuthType: 'secret',
          Id2: false,
          ...(await secret(ctx, p.productKey)),
        },
      };
    },
  },

  QueryProduct: {
    role: 'VIEWER',
    async run(ctx) {
      const p = await requireProduct(ctx, ctx.params.req('ProductKey'));
      return {
        Data: {
          ...productInfo(p),
          ...(await productCounts(ctx, p)),
          ValidateType: validateType(p),
          AliyunCommodityCode: 'iothub_senior',
          AuthType: 'secret',
          ProductStatus: 'RELEASE_STATUS',
          Owner: true,
          ...(await secret(ctx, p.productKey)),
        },
      };
    },
  },

  QueryProductList: {
    role: 'VIEWER',
    async run(ctx) {
      const currentPage = ctx.params.int('CurrentPage', {
        required: true,
        min: 1,
        max: 1_000_000,
        code: 'iot.common.InvalidPageParams',
      })!;
      const pageSize = ctx.params.int('PageSize', {
        required: true,
        min: 1,
        max: 200,
        code: 'iot.common.InvalidPageParams',
      })!;
      const { total, rows } = await ctx.services.cloudApi.productPage(ctx.principal, pageSize, currentPage);
      const list = [];
      for (const p of rows) {
        list.push({ ...productInfo(p), ...(await productCounts(ctx, p)), AuthType: 'secret' });
      }
      return {
        Data: {
          CurrentPage: currentPage,
          PageSize: pageSize,
          PageCount: Math.ceil(total / pageSize),
          Total: total,
          List: { ProductInfo: list },
        },
      };
    },
  },

  GetThingModelTsl: {
    role: 'VIEWER',
    async run(ctx) {
      const p = await requireProduct(ctx, ctx.params.req('ProductKey'));
      const simple = ctx.params.bool('Simple') ?? false;
      return { Data: { TslStr: JSON.stringify(simple ? simplify(p.tsl) : p.tsl) } };
    },
  },

  QueryProductTopic: {
    role: 'VIEWER',
    async run(ctx) {
      const p = await requireProduct(ctx, ctx.params.req('ProductKey'));
      const topics = await ctx.services.topics.list(ctx.principal, p.productKey);
      return {
        Data: {
          ProductTopicInfo: topics.map((t) => ({
            Id: String(t.id),
            ProductKey: t.productKey,
            TopicShortName: topicTemplate(t),
            Operation: OPERATION_CODE[t.operation],
            ...(t.description ? { Desc: t.description } : {}),
          })),
        },
      };
    },
  },
};
