/**
 * Turns the example's ledgers into token transfer events of the upstream `token_transfer` wire:
 * one event per payment, with 1-based transaction and operation indexes as SEP-35 numbers them.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Ledger } from "../../gen/ttp_pb.ts";
import { type Asset, AssetSchema } from "../../gen/ingest/asset/asset_pb.ts";
import {
  type TokenTransferEvent,
  TokenTransferEventSchema,
} from "../../gen/ingest/processors/token_transfer/token_transfer_event_pb.ts";

/** "XLM" is the native asset; anything else is written "CODE:ISSUER". */
export function parseAsset(text: string): Asset {
  if (text === "XLM") return create(AssetSchema, { assetType: { case: "native", value: true } });
  const [assetCode = "", issuer = ""] = text.split(":");
  return create(AssetSchema, {
    assetType: { case: "issuedAsset", value: { assetCode, issuer } },
  });
}

type EventBody = NonNullable<MessageInitShape<typeof TokenTransferEventSchema>["event"]>;

/**
 * A payment sent by the asset's issuer creates it (mint), one sent to the issuer destroys it
 * (burn); any other payment moves it (transfer).
 */
function eventBody(from: string, to: string, asset: Asset, amount: string): EventBody {
  const issuer = asset.assetType.case === "issuedAsset" ? asset.assetType.value.issuer : "";
  if (issuer !== "" && from === issuer) return { case: "mint", value: { to, asset, amount } };
  if (issuer !== "" && to === issuer) return { case: "burn", value: { from, asset, amount } };
  return { case: "transfer", value: { from, to, asset, amount } };
}

/** Every token transfer event of `ledger`, in transaction then operation order. */
export function tokenTransferEvents(ledger: Ledger): TokenTransferEvent[] {
  const closedAt = timestampFromDate(new Date(ledger.closeTime));
  return ledger.transactions.flatMap((tx, txIndex) =>
    tx.payments.map((payment, opIndex) =>
      create(TokenTransferEventSchema, {
        meta: {
          ledgerSequence: ledger.sequence,
          closedAt,
          txHash: tx.hash,
          transactionIndex: txIndex + 1,
          operationIndex: opIndex + 1,
          // Left empty: the datalake's accounts are short names, not keys, so no asset
          // contract id can be derived from them.
          contractAddress: "",
        },
        event: eventBody(payment.from, payment.to, parseAsset(payment.asset), payment.amount),
      })
    )
  );
}

/**
 * Whether `event` names one of `accounts` (as sender, receiver or contract); an empty list
 * matches every event.
 */
export function involvesAny(event: TokenTransferEvent, accounts: readonly string[]): boolean {
  if (accounts.length === 0) return true;
  const named = [event.meta?.contractAddress ?? ""];
  const body = event.event;
  if (body.case === "transfer") named.push(body.value.from, body.value.to);
  else if (body.case === "mint") named.push(body.value.to);
  else if (body.case !== undefined) named.push(body.value.from);
  return named.some((address) => address !== "" && accounts.includes(address));
}
