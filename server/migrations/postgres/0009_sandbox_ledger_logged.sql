-- The sandbox stands for an outside processor, whose records outlive a crash of Kassa's
-- database: an emptied ledger would have the reconciler settle a sale that was charged as never
-- sent, and let its retry charge again. So it is written to the WAL like every other table.
ALTER TABLE sandbox_ledger SET LOGGED;
