/** The body of the receipts tree thread (see `buildReceiptTree` in receipt-tree.ts). */
import { receiptTree } from "@tollgate/protocol";
import { serveJobs } from "../shared/job-thread.ts";

serveJobs(receiptTree);
