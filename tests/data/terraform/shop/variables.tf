variable "environment" {
  type    = string
  default = "dev"
}

variable "office_ranges" {
  type        = list(string)
  description = "Office egress ranges, IPv4 and IPv6"
  default     = ["198.51.100.0/24", "2001:db8:cafe::/48"]
}

variable "front_door_id" {
  type        = string
  description = "The X-Azure-FDID of our Front Door profile"
}

variable "deploy_agents" {
  type = list(object({
    name     = string
    cidr     = string
    priority = optional(number, 300)
  }))
  default = []
}
