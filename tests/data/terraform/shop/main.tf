terraform {
  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}

provider "azurerm" {
  features {}
}

locals {
  app_name = "contoso-shop-${var.environment}"
  blocked  = "203.0.113.66/32"
  tags = {
    environment = var.environment
  }
}

resource "azurerm_resource_group" "shop" {
  name     = "shop-${var.environment}"
  location = "westeurope"
}

resource "azurerm_service_plan" "shop" {
  name                = "shop-plan"
  resource_group_name = azurerm_resource_group.shop.name
  location            = azurerm_resource_group.shop.location
  os_type             = "Linux"
  sku_name            = "P1v3"
}

resource "azurerm_linux_web_app" "shop" {
  name                = local.app_name
  resource_group_name = azurerm_resource_group.shop.name
  location            = azurerm_resource_group.shop.location
  service_plan_id     = azurerm_service_plan.shop.id
  tags                = local.tags

  site_config {
    always_on = true
    # no ip_restriction_default_action: azurerm 3.95+ sends "Allow"
    scm_ip_restriction_default_action = "Deny"
    scm_use_main_ip_restriction       = false

    ip_restriction {
      name        = "front-door"
      priority    = 100
      service_tag = "AzureFrontDoor.Backend"
      description = "Only our own Front Door profile"
      headers {
        x_azure_fdid      = [var.front_door_id]
        x_fd_health_probe = []
        x_forwarded_for   = []
        x_forwarded_host  = []
      }
    }

    ip_restriction {
      name       = "block-scanner"
      priority   = "50"
      action     = "Deny"
      ip_address = local.blocked
    }

    ip_restriction {
      name       = "office"
      priority   = 200
      ip_address = join(",", var.office_ranges)
    }

    ip_restriction {
      # the same priority as "office", listed later: office wins for the guest wifi
      name       = "guest-wifi"
      priority   = 200
      action     = "Deny"
      ip_address = "198.51.100.128/25"
    }

    ip_restriction {
      # no priority (65000) and no action (Allow)
      name       = "partner"
      ip_address = "192.0.2.200/32"
    }

    dynamic "scm_ip_restriction" {
      for_each = var.deploy_agents
      iterator = agent
      content {
        name       = agent.value.name
        priority   = agent.value.priority
        ip_address = agent.value.cidr
      }
    }
  }
}
