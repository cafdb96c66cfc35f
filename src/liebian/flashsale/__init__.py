"""Flash sale (秒杀): time-slotted campaign stock that is never oversold."""
