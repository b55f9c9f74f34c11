"""gongzhi (共治): party-building-led community governance."""
