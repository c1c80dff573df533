"""The Shaoyang stand-in network: generator of boundaries, registers, cases and visits."""
