"""drover's AWS emulator: moto in server mode plus what a cross-region failover needs
(Aurora global failover/switchover/detach, modeled time, fault injection, a control
API under /_drover/, and a CloudWatch rpc-v2-cbor bridge)."""
