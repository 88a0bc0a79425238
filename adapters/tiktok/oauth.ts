// The OAuth-like advertiser authorization (docs/tiktok-api-notes.md §2): consent URL, single-use
// auth_code exchange, and the lookups that tell what a token reaches and with which role.
import type { TikTokClient } from './tiktok-client.js'

export function authorizationUrl (authUrl: string, appId: string, state: string, redirectUri: string): string {
  const u = new URL(authUrl)
  u.searchParams.set('app_id', appId)
  u.searchParams.set('state', state)
  u.searchParams.set('redirect_uri', redirectUri)
  return u.toString()
}

export interface TokenGrant { accessToken: string, advertiserIds: string[], scopes: number[] }

export async function exchangeAuthCode (client: TikTokClient, appId: string, secret: string, authCode: string): Promise<TokenGrant> {
  const data = await client.call<{ access_token?: string, advertiser_ids?: unknown[], scope?: unknown[] }>('POST', '/oauth2/access_token/', {
    auth: false, body: { app_id: appId, secret, auth_code: authCode }
  })
  return {
    accessToken: String(data.access_token ?? ''),
    advertiserIds: (data.advertiser_ids ?? []).map(String),
    scopes: (data.scope ?? []).map(Number)
  }
}

export async function authorizedAdvertisers (client: TikTokClient, appId: string, secret: string): Promise<Array<{ advertiserId: string, name: string }>> {
  const data = await client.call<{ list?: Array<{ advertiser_id?: unknown, advertiser_name?: unknown }> }>('GET', '/oauth2/advertiser/get/', { query: { app_id: appId, secret } })
  return (data.list ?? []).map(a => ({ advertiserId: String(a.advertiser_id), name: String(a.advertiser_name ?? '') }))
}

export async function userInfo (client: TikTokClient): Promise<{ id: string, displayName: string }> {
  const data = await client.call<{ core_user_id?: unknown, display_name?: unknown }>('GET', '/user/info/')
  return { id: String(data.core_user_id ?? ''), displayName: String(data.display_name ?? '') }
}

export async function advertiserInfo (client: TikTokClient, advertiserIds: string[]): Promise<Array<{ advertiserId: string, name: string, status: string }>> {
  const data = await client.call<{ list?: Array<Record<string, unknown>> }>('GET', '/advertiser/info/', { query: { advertiser_ids: advertiserIds } })
  return (data.list ?? []).map(a => ({ advertiserId: String(a['advertiser_id']), name: String(a['name'] ?? ''), status: String(a['status'] ?? '') }))
}

export async function businessCenters (client: TikTokClient): Promise<string[]> {
  const data = await client.call<{ list?: Array<{ bc_info?: { bc_id?: unknown } }> }>('GET', '/bc/get/')
  return (data.list ?? []).map(b => String(b.bc_info?.bc_id ?? '')).filter(id => id !== '')
}

/** The authorizing user's role (ADMIN | OPERATOR | ANALYST) on an advertiser, where a Business Center exposes it. */
export async function advertiserRole (client: TikTokClient, advertiserId: string): Promise<string | null> {
  for (const bcId of await businessCenters(client)) {
    const data = await client.call<{ list?: Array<{ asset_id?: unknown, advertiser_role?: unknown }> }>('GET', '/bc/asset/get/', { query: { bc_id: bcId, asset_type: 'ADVERTISER', page_size: 50 } })
    const hit = (data.list ?? []).find(a => String(a.asset_id) === advertiserId)
    if (hit !== undefined && typeof hit.advertiser_role === 'string') return hit.advertiser_role
  }
  return null
}
