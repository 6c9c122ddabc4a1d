// The API's shapes, taken from @remotegpu/schema as types only (no zod in the bundle; `_output` is zod's inferred type).
import type {
  AccessInfo as AccessInfoSchema,
  ApiToken as ApiTokenSchema,
  Balance as BalanceSchema,
  CreatedWebhook as CreatedWebhookSchema,
  LedgerEntry as LedgerEntrySchema,
  UsageDay as UsageDaySchema,
  Webhook as WebhookSchema,
  WebhookDelivery as WebhookDeliverySchema,
  AppLink as AppLinkSchema,
  AppPort as AppPortSchema,
  Recording as RecordingSchema,
  AuditEvent as AuditEventSchema,
  CreatedHost as CreatedHostSchema,
  CreatedToken as CreatedTokenSchema,
  Environment as EnvironmentSchema,
  FleetHost as FleetHostSchema,
  GpuMarket as GpuMarketSchema,
  Host as HostSchema,
  Image as ImageSchema,
  AdminMachine as AdminMachineSchema,
  Machine as MachineSchema,
  ResourceMetrics as ResourceMetricsSchema,
  SshKey as SshKeySchema,
  UsageRecord as UsageRecordSchema,
  User as UserSchema,
  Team as TeamSchema,
  TeamMember as TeamMemberSchema,
  TeamRole as TeamRoleSchema,
} from '@remotegpu/schema';

export type User = (typeof UserSchema)['_output'];
export type Team = (typeof TeamSchema)['_output'];
export type TeamMember = (typeof TeamMemberSchema)['_output'];
export type TeamRole = (typeof TeamRoleSchema)['_output'];
export type Environment = (typeof EnvironmentSchema)['_output'];
export type FleetHost = (typeof FleetHostSchema)['_output'];
export type GpuMarket = (typeof GpuMarketSchema)['_output'];
export type AccessInfo = (typeof AccessInfoSchema)['_output'];
export type ResourceMetrics = (typeof ResourceMetricsSchema)['_output'];
export type Machine = (typeof MachineSchema)['_output'];
export type AdminMachine = (typeof AdminMachineSchema)['_output'];
export type Image = (typeof ImageSchema)['_output'];
export type Host = (typeof HostSchema)['_output'];
export type CreatedHost = (typeof CreatedHostSchema)['_output'];
export type SshKey = (typeof SshKeySchema)['_output'];
export type ApiToken = (typeof ApiTokenSchema)['_output'];
export type CreatedToken = (typeof CreatedTokenSchema)['_output'];
export type AuditEvent = (typeof AuditEventSchema)['_output'];
export type UsageRecord = (typeof UsageRecordSchema)['_output'];

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}

export type Recording = (typeof RecordingSchema)['_output'];
/** An app port of an environment (GET /environments/:id/apps); Jupyter's 8888 is always listed. */
export type AppPort = (typeof AppPortSchema)['_output'];
export type AppLink = (typeof AppLinkSchema)['_output'];
export type Balance = (typeof BalanceSchema)['_output'];
export type LedgerEntry = (typeof LedgerEntrySchema)['_output'];
export type UsageDay = (typeof UsageDaySchema)['_output'];
export type Webhook = (typeof WebhookSchema)['_output'];
export type CreatedWebhook = (typeof CreatedWebhookSchema)['_output'];
export type WebhookDelivery = (typeof WebhookDeliverySchema)['_output'];
