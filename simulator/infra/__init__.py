"""The infra world: public services under a flood, citizens, agencies, a policy maker."""
