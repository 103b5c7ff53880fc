deploy_agents = [
  { name = "agents-a", cidr = "192.0.2.0/28" },
  { name = "agents-b", cidr = "192.0.2.16/28", priority = "310" },
]
