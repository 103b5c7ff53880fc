front_door_id = "0d1c7c2e-6a4b-4b0e-9d6a-2f4f3c1a9b10"
environment   = "prod"
